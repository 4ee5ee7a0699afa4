/** The outputs an incremental build's info file says its build wrote, absolute; throws for an info file it does not understand. */
export function expectedOutputs(infoFile: string): string[];
/** Removes `infoFile` when an output it lists is missing (or it cannot be read as one); the reason, or undefined when it is kept. */
export function removeUnlessOutputsExist(infoFile: string): string | undefined;
