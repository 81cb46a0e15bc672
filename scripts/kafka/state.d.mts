/** The checkout (or installed package) these scripts belong to: the folder above scripts/. */
export function checkoutDir(): string;
/** The default state folder of the broker of a checkout: `<tmp>/slipway-kafka-<folder name>-<hash of its real path>`. */
export function defaultStateDir(checkout?: string): string;
/** The state folder the scripts use: `$SLIPWAY_KAFKA_STATE`, else the checkout's default. */
export function stateDir(env?: NodeJS.ProcessEnv): string;
