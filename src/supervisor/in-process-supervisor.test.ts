import { InProcessSupervisor } from './in-process-supervisor.js';
import { runSupervisorContract } from './supervisor-contract.js';

runSupervisorContract('in-process', (artifactsDir) => new InProcessSupervisor({ artifactsDir }));
