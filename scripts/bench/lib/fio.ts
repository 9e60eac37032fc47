// fio, shared by the benches that measure 4 KiB random reads.
import { execFileSync, spawnSync } from 'node:child_process';

export const haveFio = (): boolean => spawnSync('which', ['fio']).status === 0;

export interface FioRandRead {
  iops: number;
  p50us: number;
  p99us: number;
}

/** fio in its own process: 4 KiB random reads of `file`, O_DIRECT, one at a time, for `seconds`. */
export function fioRandRead(file: string, seconds: number): FioRandRead {
  const out = execFileSync(
    'fio',
    ['--name=randread', `--filename=${file}`, '--rw=randread', '--bs=4k', '--direct=1', '--ioengine=psync', `--runtime=${seconds}`, '--time_based', '--output-format=json'],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const read = (JSON.parse(out) as { jobs: { read: { iops: number; clat_ns: { percentile: Record<string, number> } } }[] }).jobs[0]!.read;
  return { iops: read.iops, p50us: read.clat_ns.percentile['50.000000']! / 1000, p99us: read.clat_ns.percentile['99.000000']! / 1000 };
}
