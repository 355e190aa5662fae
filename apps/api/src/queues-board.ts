import type { NestExpressApplication } from '@nestjs/platform-express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NextFunction, Request, Response } from 'express';
import { JobQueue } from '@dockyard/queue';
import { Sessions } from './auth/sessions';

export const BOARD_PATH = '/admin/queues';

/** Bull Board on every queue of the catalogue, for admins logged in to the dashboard. */
export function mountQueuesBoard(app: NestExpressApplication): void {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: app
      .get(JobQueue)
      .all()
      .map((q) => new BullMQAdapter(q)),
    serverAdapter: adapter,
  });
  const sessions = app.get(Sessions);
  const adminsOnly = (req: Request, res: Response, next: NextFunction) => {
    sessions.userOf(req).then(
      (user) => {
        if (!user) return res.redirect(303, '/login');
        if (user.role !== 'admin') return res.status(403).type('text').send('Queues are for admins only.');
        next();
      },
      (err: unknown) => next(err),
    );
  };
  app.use(BOARD_PATH, adminsOnly, adapter.getRouter());
}
