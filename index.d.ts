/** The version of the lkrtc native addon. */
export declare function version(): string;
