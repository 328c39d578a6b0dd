/** Every built-in connector registers itself on import; one line per connector folder. */
import './postgres/index.js';
import './mysql/index.js';
import './hubspot/index.js';
import './http/index.js';
import './logfiles/index.js';
import './redis/index.js';
import './s3/index.js';
import './azure-blob/index.js';
export {};
