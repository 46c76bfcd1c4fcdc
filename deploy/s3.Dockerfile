# The cluster's S3 service: the static ember-s3-server on an empty base, so
# it builds on a machine with no image registry (nothing is pulled).
# `cluster.sh up` puts the binary in the build context. Objects are files
# under --root (mounted from the host: EMBER_DATA_DIR/s3), one directory per
# bucket.
FROM scratch
COPY ember-s3-server /
ENTRYPOINT ["/ember-s3-server"]
CMD ["--root", "/s3", "--host", "0.0.0.0", "--port", "9000", "--access-key", "ember", "--secret-key-file", "/run/secrets/ember_secret", "--bucket", "data"]
