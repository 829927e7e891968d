// Types of build.mjs (plain JavaScript: it runs before anything is compiled) for TypeScript callers (tests).
export declare function compiledBootstrap(text: string, file: string): string;
export declare function build(dist?: string): Promise<void>;
export declare const STEPS: ((ctx: { root: string; out: string; log: (s: string) => void }) => void | Promise<void>)[];
