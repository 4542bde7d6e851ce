import { pageCacheContract } from '../../ports/page-cache.contract.js';
import { MemoryPageCache } from './memory-page-cache.js';

pageCacheContract('in-process LRU', async () => ({ cache: new MemoryPageCache(), cleanup: async () => {} }));
