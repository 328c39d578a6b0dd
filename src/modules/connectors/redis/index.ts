import { registerConnector } from '../registry.js';
import { createRedisConnector } from './redis-connector.js';

registerConnector('redis', (spec) => createRedisConnector(spec));
