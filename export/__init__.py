"""Command-line tools for serving DSAN: SavedModel export for TF Serving, REST/gRPC
client, TFLite export and a serving benchmark. The library code they use is
``dsan_tf.export``; see export/README.md."""
