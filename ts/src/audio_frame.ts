import { invalidArg } from './errors.js';

/** Interleaved 16-bit PCM (`data.length === samplesPerChannel * channels`). */
export class AudioFrame {
  data: Int16Array;
  sampleRate: number;
  channels: number;
  samplesPerChannel: number;
  private _userdata: Record<string, unknown>;

  /**
   * @param data interleaved samples (`samplesPerChannel * channels` of them)
   */
  constructor(
    data: Int16Array,
    sampleRate: number,
    channels: number,
    samplesPerChannel: number,
    userdata: Record<string, unknown> = {},
  ) {
    this.data = data;
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.samplesPerChannel = samplesPerChannel;
    this._userdata = userdata;
  }

  /** A silent frame. */
  static create(
    sampleRate: number,
    channels: number,
    samplesPerChannel: number,
    userdata: Record<string, unknown> = {},
  ): AudioFrame {
    return new AudioFrame(
      new Int16Array(channels * samplesPerChannel),
      sampleRate,
      channels,
      samplesPerChannel,
      userdata,
    );
  }

  /** Application data carried with the frame (never sent). */
  get userdata(): Record<string, unknown> {
    return this._userdata;
  }
}

/** Concatenates frames of one format into a new frame (copies; `ERR_INVALID_ARG` on mixed formats). */
export const combineAudioFrames = (buffer: AudioFrame | AudioFrame[]): AudioFrame => {
  const frames = Array.isArray(buffer) ? buffer : [buffer];
  const first = frames[0];
  if (first === undefined) throw invalidArg('combineAudioFrames: no frames to combine');
  const { sampleRate, channels } = first;
  let total = 0;
  let spc = 0;
  for (const f of frames) {
    if (!(f?.data instanceof Int16Array)) throw invalidArg('combineAudioFrames: every frame needs an Int16Array data');
    if (f.sampleRate !== sampleRate || f.channels !== channels) {
      throw invalidArg(
        `combineAudioFrames: cannot combine ${f.sampleRate} Hz/${f.channels} ch with ${sampleRate} Hz/${channels} ch`,
      );
    }
    total += f.data.length;
    spc += f.samplesPerChannel;
  }
  const data = new Int16Array(total);
  let at = 0;
  for (const f of frames) {
    data.set(f.data, at);
    at += f.data.length;
  }
  return new AudioFrame(data, sampleRate, channels, spc);
};

/** @internal */
export function checkFrame(frame: unknown, what: string): asserts frame is AudioFrame {
  if (frame === null || typeof frame !== 'object' || !((frame as AudioFrame).data instanceof Int16Array)) {
    throw invalidArg(`${what}: frame must be an AudioFrame with Int16Array data`);
  }
}
