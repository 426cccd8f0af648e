import type { ByteStreamReader, TextStreamReader } from './stream_reader.js';

/** A stream's header. */
export interface BaseStreamInfo {
  streamId: string;
  mimeType: string;
  topic: string;
  /** Sender's clock, milliseconds since the epoch. */
  timestamp: number;
  /** Total size in bytes, when the sender announced it. */
  totalSize?: number;
  attributes?: Record<string, string>;
}
export type TextStreamInfo = BaseStreamInfo;
export type ByteStreamInfo = BaseStreamInfo & { name: string };

export interface DataStreamOptions {
  topic?: string;
  destinationIdentities?: Array<string>;
  attributes?: Record<string, string>;
  mimeType?: string;
}
export interface TextStreamOptions extends DataStreamOptions {
  attachments?: [];
}
export interface ByteStreamOptions extends DataStreamOptions {
  /** Default 'unknown' (as the official client: not the file's basename). */
  name?: string;
  /** sendFile: called with the fraction sent so far. */
  onProgress?: (progress: number) => void;
  /** Accepted for compatibility; lkrtc sends uncompressed streams. */
  compress?: boolean;
}

export type TextStreamHandler = (reader: TextStreamReader, participantInfo: { identity: string }) => void;
export type ByteStreamHandler = (reader: ByteStreamReader, participantInfo: { identity: string }) => void;
