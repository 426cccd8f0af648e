// Which vitest suites need the private network namespace (scripts/netns.sh, root on Linux):
// those that drive the official client (@livekit/rtc-node, i.e. libwebrtc, which gathers
// candidates on every interface it finds; NETWORK.md) or a browser. Every other suite is
// lkrtc-only, binds 127.0.0.1 and runs as any user (the `local` vitest project).
//
// A local suite that reaches for the official client anyway fails loudly: in that project
// `@livekit/rtc-node` resolves to helpers/official-unavailable.mjs, which throws.
export const NAMESPACE_SUITES = [
  // Direct users of @livekit/rtc-node.
  '__test__/0[1-7]-*.test.mjs',
  '__test__/audio/01-sine.test.mjs',
  '__test__/audio/03-interop-lifecycle.test.mjs',
  '__test__/client/01-remote-leave.test.mjs',
  '__test__/client/06-interop.test.mjs',
  '__test__/compat/**/*.test.mjs',
  '__test__/connectivity/02-turn.test.mjs',
  '__test__/connectivity/03-ice.test.mjs',
  '__test__/data/01-rpc.test.mjs',
  '__test__/data/02-streams.test.mjs',
  '__test__/data/03-state.test.mjs',
  // End-to-end encryption against the official client.
  '__test__/e2ee/**/*.test.mjs',
  // Official peers through helpers/rtc.mjs (Scope.connect, publishSine, readTone).
  '__test__/client/02-mass-disconnect.test.mjs',
  '__test__/client/03-disconnect-paths.test.mjs',
  '__test__/client/04-churn.test.mjs',
  '__test__/client/07-bad-input.test.mjs',
  // Video forwarded between official clients.
  '__test__/video/**/*.test.mjs',
  // livekit-client in headless Chromium.
  '__test__/browser/**/*.test.mjs',
];

/** Every vitest suite. */
export const ALL_SUITES = ['__test__/**/*.test.mjs'];
