// Work over shards on all cores, with panics turned into errors.

package main

import (
	"fmt"
	"runtime"
	"sync"
)

// parallel runs f(state, i) for i in [0, n) on GOMAXPROCS goroutines, each with its own state.
// A panic in f becomes an error instead of ending the process.
func parallel[S any](n int, newState func() S, f func(S, int) error) error {
	return parallelOn(runtime.GOMAXPROCS(0), n, newState, f)
}

// parallelOn is parallel on at most workers goroutines. With one worker it runs on the calling
// thread itself, so that a caller that lowered its thread's priority does the work at that
// priority.
func parallelOn[S any](workers, n int, newState func() S, f func(S, int) error) error {
	if workers > n {
		workers = n
	}
	if workers == 1 {
		return inline(n, newState(), f)
	}
	var mu sync.Mutex
	var first error
	next := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("internal error: %v", r)
					}
					mu.Unlock()
				}
			}()
			state := newState()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if stop || i >= n {
					return
				}
				if err := f(state, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func inline[S any](n int, state S, f func(S, int) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	for i := 0; i < n; i++ {
		if err := f(state, i); err != nil {
			return err
		}
	}
	return nil
}
