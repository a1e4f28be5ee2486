import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.ts';

const PID_FILE = 'server.pid';

function alive(pid: number): boolean {
  // Our own pid in the file is a previous run's (a container's pid 1 again), not a live server.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a live server using `dataDir`, or null (no pid file, or one left by a server that died). */
export function runningServer(dataDir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : null;
}

/**
 * Marks `dataDir` as served by this process. Two servers on one database would each run the
 * queue, the pushes and the housekeeping; and a restore must know not to swap the database
 * under one. A pid file rather than a lock: it outlives a crash harmlessly (the pid is dead).
 */
export function claimDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const other = runningServer(dataDir);
  if (other !== null) throw new AppError('data_dir_in_use', `another server (pid ${other}) is using ${dataDir}`, 409);
  const file = path.join(dataDir, PID_FILE);
  fs.writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
}
