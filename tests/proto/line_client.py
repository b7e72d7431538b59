"""What the raw protocol clients of the tests share (IMAP in roost.py,
POP3 in test_pop3.py, LMTP in lmtp_client.py): a socket to the server,
bytes or str sent as they are, CR LF lines read from a buffer, and
closing, also as a context manager."""

import socket


def connect(port=None, path=None, timeout=None):
    """A connected socket: TCP to 127.0.0.1:port, or the Unix socket
    at path."""
    if path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        return sock
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


class LineClient:
    """Base of the raw line clients; a subclass sets self.sock and
    self.buf = b"" before reading."""

    recv_bytes = 65536                 # read at most this much at a time
    closed_error = ConnectionError     # raised when the server closes

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(self.recv_bytes)
        if not chunk:
            raise self.closed_error(f"closed; buffered={self.buf!r}")
        self.buf += chunk

    def _line(self):
        """One line as bytes, without CR LF."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
