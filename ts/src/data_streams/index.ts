export * from './stream_reader.js';
export * from './stream_writer.js';
export type * from './types.js';
