// Imports each part's CLI commands so that they register themselves (see registerCommand in main.ts).
// Add one line per part: import '../digest/cli.js'; import '../api/cli.js'; ...
import '../api/cli.js';
import '../digest/cli.js';
import '../ui/cli.js';
import '../ratelimit/cli.js';
import '../alerts/cli.js';
import '../storage/cli.js';
import '../archive/retention/cli.js';
export {};
