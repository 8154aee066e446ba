// Imported (not read from disk by path) so tsc copies package.json beside the build and the image
// reports the same version as the source tree.
import pkg from '../package.json' with { type: 'json' };

export const version: string = pkg.version;
