// Shared by the examples: join a room as `identity`, then run until SIGINT/SIGTERM.
//
// With LIVEKIT_URL and LIVEKIT_TOKEN set (a token for this example's identity, made with
// livekit-server-sdk or `lk token create`), it joins that server. Without them it starts an
// in-process DevServer and prints a token for you to join the same room with any LiveKit
// client.
import { DevServer, Room } from 'lkrtc';

/**
 * Connects a Room; returns { room, url, leave, stopped }. `leave()` disconnects the room and
 * closes the in-process server, if any; `stopped` resolves once SIGINT or SIGTERM has done so.
 */
export async function join(identity, roomName = 'examples') {
  let url = process.env.LIVEKIT_URL;
  let token = process.env.LIVEKIT_TOKEN;
  let dev = null;
  if (!url || !token) {
    dev = await DevServer.start();
    url = dev.url;
    token = dev.createToken({ identity, room: roomName });
    const peer = dev.createToken({ identity: 'you', room: roomName });
    console.log(`dev server on ${url}; join room "${roomName}" with token ${peer}`);
  }
  const room = new Room();
  await room.connect(url, token);
  const leave = async () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await room.disconnect();
    await dev?.close();
  };
  let stop;
  const stopped = new Promise((resolve) => {
    stop = () => leave().then(resolve);
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { room, url, leave, stopped };
}
