/** See hello-body.mjs. */
export declare const helloBody: () => Uint8Array<ArrayBuffer>;
