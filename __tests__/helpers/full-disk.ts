// The module object itself (an ES namespace's bindings cannot be spied on): the disk fills through it.
import fs = require('node:fs');

/** Runs `action` on a disk that fills after half of what each `writeFileSync` writes (ENOSPC), then frees it. */
export function withFullDisk<T>(action: () => T): T {
  const write = fs.writeFileSync;
  const full = jest.spyOn(fs, 'writeFileSync').mockImplementation((target, data, options) => {
    write(target, String(data).slice(0, String(data).length / 2), options);
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  });
  try {
    return action();
  } finally {
    full.mockRestore();
  }
}
