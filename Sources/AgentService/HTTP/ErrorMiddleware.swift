import Hummingbird
import Logging

/// Turns every error into the JSON error shape (the statuses are chosen in `ErrorMapping.swift`).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw HTTPAPIError(error, logger: context.logger)
        }
    }
}
