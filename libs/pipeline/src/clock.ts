import { Injectable } from '@nestjs/common';

/** Time, injectable: tests shift it to stand inside a freeze window. */
@Injectable()
export class Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Tests only: make now() read `at` (time keeps running from there). */
  set(at: Date): void {
    this.offsetMs = at.getTime() - Date.now();
  }
}
