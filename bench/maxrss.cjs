/**
 * Preloaded into every node process the benchmark starts (NODE_OPTIONS=--require): on exit, appends
 * "<pid> <maxRSS kB> <script>" to $BENCH_MAXRSS_FILE, so peak memory is measured without
 * /usr/bin/time (absent on many machines). process.resourceUsage().maxRSS is in kilobytes.
 */
'use strict';
const file = process.env.BENCH_MAXRSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      const script = (process.argv[1] || '').split(/[\\/]/).slice(-3).join('/');
      require('node:fs').appendFileSync(file, `${process.pid} ${process.resourceUsage().maxRSS} ${script}\n`);
    } catch {
      // never change the measured program's behaviour
    }
  });
}
