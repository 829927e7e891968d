// Types of build-stamp.mjs (plain JavaScript, so the launcher needs no TypeScript loader) for TypeScript callers.
export declare const STAMP_FILE: string;
export declare const STAMP_SCHEMA: string;
export declare const EXTRA_INPUTS: string[];
export declare function listInputs(root: string): Record<string, [number, number]>;
export declare function stampText(inputs: Record<string, [number, number]>): string;
export declare function staleReason(root: string, distDir?: string): string | null;
