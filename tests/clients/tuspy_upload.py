"""Uploads a file to Coffer with tuspy, the official Python tus client, as a user's script
would: the upload URL is remembered in a file (tuspy's FileStorage, keyed by the file's
fingerprint), so running this again with the same storage resumes the upload where it stopped.

    tuspy_upload.py --endpoint URL --token TOKEN --file PATH --storage PATH
                    [--chunk-size BYTES] [--chunks N] [--checksum]

--chunks N stops after N requests (an interruption); --checksum sends Upload-Checksum (sha256,
which Coffer offers, instead of tuspy's default sha1). Prints {"url", "offset"} as JSON.
"""

import argparse
import hashlib
import json
import os

from tusclient import client
from tusclient.storage import filestorage
from tusclient.uploader import Uploader


class Sha256Uploader(Uploader):
    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--chunk-size", type=int, default=1024 * 1024)
    parser.add_argument("--chunks", type=int)
    parser.add_argument("--checksum", action="store_true")
    args = parser.parse_args()

    tus = client.TusClient(args.endpoint, headers={"Authorization": f"Bearer {args.token}"})
    uploader = Sha256Uploader(
        file_path=args.file,
        client=tus,
        chunk_size=args.chunk_size,
        metadata={"filename": os.path.basename(args.file)},
        store_url=True,
        url_storage=filestorage.FileStorage(args.storage),
        upload_checksum=args.checksum,
    )
    if args.chunks is None:
        uploader.upload()
    else:
        for _ in range(args.chunks):
            uploader.upload_chunk()
    print(json.dumps({"url": uploader.url, "offset": uploader.offset}))


if __name__ == "__main__":
    main()
