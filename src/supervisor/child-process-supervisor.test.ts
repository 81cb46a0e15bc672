import { ChildProcessSupervisor } from './child-process-supervisor.js';
import { runSupervisorContract } from './supervisor-contract.js';

runSupervisorContract('child-process', (artifactsDir) => new ChildProcessSupervisor({ artifactsDir }));
