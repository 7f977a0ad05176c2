// Types for wgsl-preprocessor, which ships none (nor a package entry point, hence the file
// path): a template tag resolving #if/#elif/#else/#endif.
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
