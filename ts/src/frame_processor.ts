// Frame processors: the hook AudioStream's `noiseCancellation` option plugs into (the same
// contract as @livekit/rtc-node's, recognised by the same registered symbol, so processors
// written for the official SDK work here).
import type { AudioFrame } from './audio_frame.js';
import type { VideoFrame } from './video.js';

/** Where a processor's frames come from. */
export type FrameProcessorStreamInfo = {
  roomName: string;
  participantIdentity: string;
  publicationSid: string;
};

/** Credentials of the room the stream belongs to (for processors that call a service). */
export type FrameProcessorCredentials = {
  token: string;
  url: string;
};

const FrameProcessorSymbol = Symbol.for('lk.frame-processor');

/** Type guard: `maybeProcessor` is a `FrameProcessor` (from lkrtc or from @livekit/rtc-node). */
export function isFrameProcessor<T extends FrameProcessor<AudioFrame> | FrameProcessor<VideoFrame> | unknown>(
  maybeProcessor: unknown,
): maybeProcessor is T extends FrameProcessor<AudioFrame>
  ? FrameProcessor<AudioFrame>
  : T extends FrameProcessor<VideoFrame>
    ? FrameProcessor<VideoFrame>
    : FrameProcessor<AudioFrame> | FrameProcessor<VideoFrame> {
  return (
    maybeProcessor !== null &&
    typeof maybeProcessor === 'object' &&
    (maybeProcessor as { symbol?: unknown }).symbol === FrameProcessorSymbol
  );
}

/**
 * Transforms frames of a stream (noise cancellation...). `process` runs synchronously on
 * every frame while `isEnabled()`; a processor that throws lets the original frame through.
 */
export abstract class FrameProcessor<Frame extends VideoFrame | AudioFrame> {
  readonly symbol: symbol = FrameProcessorSymbol;
  abstract isEnabled(): boolean;
  abstract setEnabled(enabled: boolean): void;
  /** The stream's room, participant and publication became known. */
  onStreamInfoUpdated(_info: FrameProcessorStreamInfo): void {}
  onStreamInfoCleared(): void {}
  /** The room's URL and token became known (or changed). */
  onCredentialsUpdated(_credentials: FrameProcessorCredentials): void {}
  onCredentialsCleared(): void {}
  abstract process(frame: Frame): Frame;
  abstract close(): void;
}
