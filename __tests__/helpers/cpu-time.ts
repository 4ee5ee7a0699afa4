/**
 * What `work` returned and the CPU time it took in this process, in milliseconds: a hang detector's measure. The
 * clock would also count the seconds a loaded machine keeps the process waiting for a core.
 */
export function withCpuMilliseconds<T>(work: () => T): [T, number] {
  const started = process.cpuUsage();
  const value = work();
  const { user, system } = process.cpuUsage(started);
  return [value, (user + system) / 1000];
}
