import { BadRequestException, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { WebhookIntake } from '@dockyard/pipeline';

/** GitHub webhooks. Answers fast (GitHub waits 10 s and never retries by itself): the work is queued. */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly intake: WebhookIntake) {}

  @Post('github')
  @HttpCode(202)
  @ApiOperation({ summary: 'Receive a GitHub webhook delivery (push, ping)' })
  async github(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Headers('x-github-delivery') deliveryId: string | undefined,
    @Headers('x-github-event') event: string | undefined,
    @Headers('x-hub-signature-256') signature: string | undefined,
  ) {
    if (!deliveryId || !/^[\w-]{1,100}$/.test(deliveryId))
      throw new BadRequestException('X-GitHub-Delivery is missing or malformed');
    if (!event || !/^[a-z_]{1,64}$/.test(event))
      throw new BadRequestException('X-GitHub-Event is missing or malformed');
    // The body comes as raw bytes (see http-app.ts): the intake checks the signature before parsing it.
    if (!Buffer.isBuffer(req.body) || !req.is('application/json'))
      throw new BadRequestException('the body must be JSON (content type application/json)');
    const result = await this.intake.receive({ deliveryId, event, signature, rawBody: req.body });
    switch (result.outcome) {
      case 'accepted':
        return { buildId: result.buildId, status: 'queued', superseded: result.superseded };
      case 'duplicate':
        res.status(200);
        return { buildId: result.buildId, duplicate: true, ...(result.reason ? { reason: result.reason } : {}) };
      case 'ping':
        res.status(200);
        return { pong: true };
      case 'ignored':
        return { ignored: true, reason: result.reason };
    }
  }
}
