// Exit codes of bin/detect and bin/build.
// Spec: https://github.com/buildpacks/spec/blob/buildpack/v0.10/buildpack.md#detection
//   detect: 0 = pass, 100 = fail, anything else = error. build: 0 = success, anything else = failure.
export const EXIT = {
  /** detect passed, or build succeeded */
  OK: 0,
  /** detect: this buildpack does not apply to the app */
  DETECT_FAILED: 100,
  /** build (or detect) failed because of something the user can fix: the message says what */
  USER_ERROR: 1,
  /** a bug or an unexpected condition inside the buildpack */
  INTERNAL_ERROR: 2,
} as const;
