/** What runtime this is, for the few places that choose a path or a message by it. */

/** True under Node (process.versions.node is set), false in a browser. */
export function isNode(): boolean {
  return (
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string'
  );
}
