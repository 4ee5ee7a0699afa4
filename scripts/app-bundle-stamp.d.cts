/** Types of app-bundle-stamp.cjs (plain CommonJS: scripts/build-app.mjs runs it before anything is compiled). */
import type { Plugin } from 'esbuild';

/** An output file as esbuild returns it (`write: false`), as the build wrote it. */
export interface OutputFile {
  readonly path: string;
  readonly contents: Uint8Array;
}

/** What a build recorded: its settings and the SHA-1 ("missing" for none) of each file and folder listing, by absolute path. */
export interface AppBundleStamp {
  readonly format: number;
  readonly settings: unknown;
  readonly inputs: Readonly<Record<string, string>>;
  readonly resolution: Readonly<Record<string, string>>;
  readonly folders: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
}

export declare const FORMAT: number;
export declare function fileDigest(path: string): string;
/** What a build read, as it read it: SHA-1s ("missing" for none) by absolute path. */
export interface Recording {
  /** The folder esbuild runs in: folder listings above an input stop there. */
  readonly cwd: string;
  readonly inputs: Map<string, string>;
  readonly files: Map<string, string>;
  readonly folders: Map<string, string>;
  /** The first error reading a file or folder: the build is then not stamped. */
  readonly unreadable: unknown;
}
export declare function newRecording(cwd: string): Recording;
export declare function inputRecorder(recording: Recording): Plugin;
export declare function stampOf(build: {
  settings: { readonly cwd: string };
  cwd: string;
  metafileInputs: Record<string, unknown>;
  recording: Recording;
  outputs: readonly OutputFile[];
}): AppBundleStamp | undefined;
export declare function staleness(stampFile: string, settings: { readonly cwd: string }): string | undefined;
export declare function buildUnlessCurrent(job: {
  stampFile: string;
  settings: { readonly cwd: string };
  build(recorder: Plugin): Promise<{ metafile: { inputs: Record<string, unknown> }; warnings: readonly unknown[]; outputs: readonly OutputFile[] }>;
}): Promise<boolean>;
