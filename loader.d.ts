// The native binding, checked by loader.js; its declarations are napi-rs's (native.d.ts).
export * from './native.js';
