/**
 * <digit-canvas>: a 280×280 canvas to draw a digit on with a mouse, pen or finger (thick
 * round white strokes on black, like MNIST), a Clear button, and a small preview of the
 * 28×28 input the drawing becomes (digit-preprocess.ts).
 *
 * Property `input`: the last 784 inputs (row-major, [0, 1]), undefined while empty.
 * Event 'digit-input' (bubbles, composed): detail = that Float32Array, or undefined after
 * Clear; at most once per animation frame while drawing, and once when the stroke ends.
 */
import { css, html, LitElement } from 'lit';
import { FIELD, inkFromRgba, preprocessDigit } from './digit-preprocess.js';
import { panelStyles } from './styles.js';

/** The canvas's size in pixels (its backing store; CSS may scale it). */
const SIDE = 280;
/** Stroke width: a digit drawn ~200 px tall gets strokes ~2 px wide at MNIST's 20 px box. */
const LINE_WIDTH = 22;

export class DigitCanvas extends LitElement {
  static override properties = {
    input: { attribute: false },
  };

  static override styles = [
    panelStyles,
    css`
      .pad {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
        align-items: flex-start;
      }
      #draw {
        width: 280px;
        height: 280px;
        background: #000;
        border-radius: 6px;
        cursor: crosshair;
        touch-action: none; /* a finger draws instead of scrolling the page */
        display: block;
      }
      .side {
        display: flex;
        flex-direction: column;
        gap: 0.5rem;
        align-items: flex-start;
      }
      #preview {
        width: 84px;
        height: 84px;
        image-rendering: pixelated;
        background: #000;
        border-radius: 3px;
      }
      .hint {
        color: #4a5466;
        font-size: 12px;
        max-width: 10rem;
      }
    `,
  ];

  declare input: Float32Array | undefined;
  private canvas: HTMLCanvasElement | undefined;
  private ctx: CanvasRenderingContext2D | undefined;
  private last: { x: number; y: number } | undefined;
  private pointer: number | undefined;
  private frame: number | undefined;

  constructor() {
    super();
    this.input = undefined;
  }

  override render() {
    return html`<div class="pad">
      <canvas
        id="draw"
        width=${SIDE}
        height=${SIDE}
        aria-label="Draw a digit here"
        @pointerdown=${this.onDown}
        @pointermove=${this.onMove}
        @pointerup=${this.onUp}
        @pointercancel=${this.onUp}
      ></canvas>
      <div class="side">
        <button id="clear" class="secondary" @click=${() => this.clear()}>Clear</button>
        <canvas id="preview" width=${FIELD} height=${FIELD} title="What the model sees: 28×28"></canvas>
        <span class="hint"
          >What the model sees: the ink scaled into 20×20 and centred by its mass in 28×28, as in MNIST.</span
        >
      </div>
    </div>`;
  }

  override firstUpdated(): void {
    this.canvas = this.renderRoot.querySelector<HTMLCanvasElement>('#draw') ?? undefined;
    this.ctx = this.canvas?.getContext('2d', { willReadFrequently: true }) ?? undefined;
    this.blank();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
  }

  /** Clears the drawing; fires 'digit-input' with undefined. */
  clear(): void {
    this.blank();
    this.input = undefined;
    this.drawPreview(undefined);
    this.fire();
  }

  private blank(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, SIDE, SIDE);
  }

  /** The event's position in canvas pixels. */
  private at(e: PointerEvent): { x: number; y: number } {
    const r = (this.canvas as HTMLCanvasElement).getBoundingClientRect();
    return { x: ((e.clientX - r.left) * SIDE) / r.width, y: ((e.clientY - r.top) * SIDE) / r.height };
  }

  private readonly onDown = (e: PointerEvent): void => {
    if (this.pointer !== undefined || !this.ctx || e.button !== 0) return;
    e.preventDefault();
    this.pointer = e.pointerId;
    try {
      this.canvas?.setPointerCapture(e.pointerId); // the stroke goes on outside the canvas
    } catch {
      // a synthetic event's pointer cannot be captured; drawing works without it
    }
    const p = this.at(e);
    this.last = p;
    this.segment(p, p);
    this.schedule();
  };

  private readonly onMove = (e: PointerEvent): void => {
    if (e.pointerId !== this.pointer) return;
    // Coalesced events: every position the pointer passed since the last frame (smooth curves).
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length > 0 ? events : [e]) {
      const p = this.at(ev);
      this.segment(this.last ?? p, p);
      this.last = p;
    }
    this.schedule();
  };

  private readonly onUp = (e: PointerEvent): void => {
    if (e.pointerId !== this.pointer) return;
    this.pointer = undefined;
    this.last = undefined;
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.update784();
  };

  private segment(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const ctx = this.ctx as CanvasRenderingContext2D;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  /** At most one preprocessing per animation frame while drawing. */
  private schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      this.update784();
    });
  }

  private update784(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const ink = inkFromRgba(ctx.getImageData(0, 0, SIDE, SIDE).data);
    this.input = preprocessDigit(ink, SIDE, SIDE);
    this.drawPreview(this.input);
    this.fire();
  }

  private drawPreview(x: Float32Array | undefined): void {
    const ctx = this.renderRoot.querySelector<HTMLCanvasElement>('#preview')?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(FIELD, FIELD);
    for (let i = 0; i < FIELD * FIELD; i++) {
      const v = Math.round((x?.[i] ?? 0) * 255);
      img.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
  }

  private fire(): void {
    this.dispatchEvent(
      new CustomEvent<Float32Array | undefined>('digit-input', {
        detail: this.input,
        bubbles: true,
        composed: true,
      }),
    );
  }
}

if (!customElements.get('digit-canvas')) customElements.define('digit-canvas', DigitCanvas);

declare global {
  interface HTMLElementTagNameMap {
    'digit-canvas': DigitCanvas;
  }
  interface HTMLElementEventMap {
    'digit-input': CustomEvent<Float32Array | undefined>;
  }
}
