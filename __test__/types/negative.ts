// Must NOT compile (checked by __test__/types.test.mjs): proves that the `livekit-sdk`
// mapping really reaches lkrtc's declarations and that they are strict.
import { Room, RoomEvent } from 'livekit-sdk';

const room = new Room();
room.on(RoomEvent.TrackSubscribed, (sid: number) => console.log(sid));
