// The JPEG coder lives in the Embedded-safe ComRecJPEG (the board libraries use it too); users of
// ComRecIO get it with their import, as before it moved.
@_exported import ComRecJPEG
