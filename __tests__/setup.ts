import { Testing } from 'cdktf';

Testing.setupJest();

/**
 * cdktf captures a full stack trace for every token it creates, to show if the token cannot be
 * resolved. Under jest, source-map-support maps each one, decoding the megabyte inline source maps
 * of cdktf's and the providers' files again in every test file: about a third of the suite's time.
 * Those captures are plain objects, not errors, and get V8's own unmapped frames; errors keep their
 * source-mapped traces.
 */
const sourceMapped = Error.prepareStackTrace;
if (sourceMapped !== undefined) {
  Error.prepareStackTrace = (error, frames) =>
    error instanceof Error
      ? sourceMapped(error, frames)
      : [String(error), ...frames.map((frame) => `    at ${String(frame)}`)].join('\n');
}
