// Types of kernels.mjs for the test that imports it.
export function assembleKernel(name: string, source: string): Promise<Buffer>;
export function kernelModuleSource(watFile: string, bytes: Buffer): string;
