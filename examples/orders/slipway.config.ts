// The project file the CLI reads: it exports the project's datasets and pipelines.
export { enrichedOrders, orders } from './datasets.js';
export { ordersMasking } from './masking.js';
export { enrichOrders } from './pipeline.js';
