// Stand-in for the webgl/wasm TF.js backends that face-api's nobundle build imports (unused here).
export {};
