package testimage

// BuildImage exposes buildImage to the external tests.
var BuildImage = buildImage
