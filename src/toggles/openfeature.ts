// `slipway/openfeature`: the OpenFeature provider, apart from the main entry so that only services that use it
// load @openfeature/server-sdk.
export type { SlipwayProviderOptions } from './openfeature-provider.js';
export { SlipwayToggleProvider } from './openfeature-provider.js';
