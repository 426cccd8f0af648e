// What `@livekit/rtc-node` resolves to in the `local` vitest project (no network namespace):
// a suite that loads the official client there is misfiled, and says so instead of letting
// libwebrtc gather candidates on the machine's external interfaces (NETWORK.md).
throw new Error(
  'this suite loads the official client (@livekit/rtc-node, libwebrtc), which must run inside the ' +
    'private network namespace: add it to NAMESPACE_SUITES in __test__/helpers/suites.mjs',
);
