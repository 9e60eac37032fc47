// One ErasureCodec per (k, m). A tier's scheme may change in its configuration while
// files written under the old one stay; each layout names its own k and m.
import { ErasureCodec } from '../../ec/index.js';

export class CodecCache {
  private readonly codecs = new Map<string, ErasureCodec>();

  get(k: number, m: number): ErasureCodec {
    const key = `${k}+${m}`;
    let codec = this.codecs.get(key);
    if (!codec) {
      codec = new ErasureCodec(k, m);
      this.codecs.set(key, codec);
    }
    return codec;
  }
}
