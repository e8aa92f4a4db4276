package channel

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxStatementLines bounds the lines a statement parser reads: a day of a
// busy channel is far below it, a runaway file is not.
const maxStatementLines = 2_000_000

// maxStatementLineBytes bounds one line of a statement.
const maxStatementLineBytes = 4096

// statementError locates a problem in a statement file.
func statementError(k Kind, line int, err error) error {
	return fmt.Errorf("%s statement line %d: %w", k, line, err)
}

// readCSV reads a CSV statement whose first record is header, calling row
// for each later record with its line number. The record's fields are only
// valid during the call.
func readCSV(k Kind, r io.Reader, header []string, row func(line int, rec []string) error) error {
	cr := csv.NewReader(io.LimitReader(r, maxStatementLines*maxStatementLineBytes))
	cr.FieldsPerRecord = len(header)
	cr.ReuseRecord = true
	first, err := cr.Read()
	if err != nil {
		return statementError(k, 1, garbled("header: %v", err))
	}
	if !slices.Equal(first, header) {
		return statementError(k, 1, garbled("header %q, want %q", clip(strings.Join(first, ",")), strings.Join(header, ",")))
	}
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return statementError(k, n, garbled("%v", err))
		}
		if n > maxStatementLines {
			return statementError(k, n, garbled("more than %d lines", maxStatementLines))
		}
		if err := row(n, rec); err != nil {
			return statementError(k, n, err)
		}
	}
}

// readLines calls line for every line of r (without its end of line) with
// its number, refusing overlong lines and files.
func readLines(k Kind, r io.Reader, line func(n int, s string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxStatementLineBytes)
	n := 0
	for sc.Scan() {
		n++
		if n > maxStatementLines {
			return statementError(k, n, garbled("more than %d lines", maxStatementLines))
		}
		if err := line(n, strings.TrimSuffix(sc.Text(), "\r")); err != nil {
			return statementError(k, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return statementError(k, n+1, garbled("%v", err))
	}
	return nil
}
