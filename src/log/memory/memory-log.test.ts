import { runLogContract } from '../contract.js';
import { MemoryLogStore, openMemoryLog } from './memory-log.js';

const store = new MemoryLogStore();
runLogContract('memory', { open: () => openMemoryLog({ store }) });
