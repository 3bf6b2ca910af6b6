package flbtest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Chunk is what Fluent Bit hands one flush: a tag and a chunk of msgpack
// events (ABI §6). plugin/decode/decodetest writes such chunks.
type Chunk struct {
	Tag  string
	Data []byte
}

// The host's limits: Go receives the length as C.int (ABI §2), and a longer
// tag than this is taken for a corrupt stream.
const (
	maxChunkLen = math.MaxInt32
	maxTagLen   = 1 << 20
)

// AppendChunk appends c to b in the chunk stream format the host reads:
// u32le tag length, tag, u32le chunk length, chunk.
func AppendChunk(b []byte, c Chunk) ([]byte, error) {
	if len(c.Tag) > maxTagLen {
		return b, fmt.Errorf("flbhost: tag of %d bytes exceeds %d", len(c.Tag), maxTagLen)
	}
	if len(c.Data) > maxChunkLen {
		return b, fmt.Errorf("flbhost: chunk of %d bytes exceeds %d", len(c.Data), maxChunkLen)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Tag)))
	b = append(b, c.Tag...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Data)))
	return append(b, c.Data...), nil
}

// WriteChunks writes chunks to w in the chunk stream format.
func WriteChunks(w io.Writer, chunks ...Chunk) error {
	var buf []byte
	for i, c := range chunks {
		var err error
		if buf, err = AppendChunk(buf[:0], c); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("flbhost: writing chunk %d: %w", i, err)
		}
	}
	return nil
}

// WriteChunkFile writes chunks to a new chunk stream file at path, for
// Config.Input.
func WriteChunkFile(path string, chunks ...Chunk) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("flbhost: %w", err)
	}
	w := bufio.NewWriter(f)
	err = WriteChunks(w, chunks...)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("flbhost: %w", cerr)
	}
	return err
}
