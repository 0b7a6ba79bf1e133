//! loft's state transition function (eth profile). (Stub: to be implemented.)
